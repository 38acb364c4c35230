import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// System prompt presets (create, edit, delete, default) and the one this conversation uses, which
// it can override with its own text.
Dialog {
    id: dialog
    title: qsTr("System prompts")
    modal: true
    width: 760
    height: 560
    background: Rectangle { color: Theme.background; radius: Theme.radius; border.color: Theme.border }
    footer: DialogButtonBox {
        background: null
        Button { text: qsTr("Close"); flat: true; DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
    }
    property var selectedId: 0

    function select(row) {
        presetList.currentIndex = row
    }

    ColumnLayout {
        anchors.fill: parent
        spacing: 10

        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 12
            ColumnLayout {
                Layout.preferredWidth: 220
                Layout.fillHeight: true
                ListView {
                    id: presetList
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: ChatController.systemPrompts
                    delegate: ItemDelegate {
                        required property int index
                        required property var promptId
                        required property string name
                        required property string promptText
                        required property bool isDefault
                        width: ListView.view.width
                        highlighted: ListView.isCurrentItem
                        text: isDefault ? qsTr("%1 (default)").arg(name) : name
                        onClicked: ListView.view.currentIndex = index
                    }
                    onCurrentIndexChanged: {
                        const item = currentItem
                        dialog.selectedId = item ? item.promptId : 0
                        nameField.text = item ? item.name : ""
                        textArea.text = item ? item.promptText : ""
                    }
                }
                Button {
                    Layout.fillWidth: true
                    text: qsTr("New preset")
                    onClicked: {
                        const id = ChatController.createSystemPrompt(qsTr("New preset"), "")
                        presetList.currentIndex = ChatController.systemPrompts.rowOf(id)
                        nameField.forceActiveFocus()
                        nameField.selectAll()
                    }
                }
            }
            ColumnLayout {
                Layout.fillWidth: true
                Layout.fillHeight: true
                enabled: dialog.selectedId !== 0
                TextField { id: nameField; Layout.fillWidth: true; placeholderText: qsTr("Name"); selectByMouse: true }
                ScrollView {
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    TextArea { id: textArea; wrapMode: TextEdit.Wrap; selectByMouse: true; placeholderText: qsTr("You are a helpful assistant…") }
                }
                RowLayout {
                    AccentButton { text: qsTr("Save"); onClicked: { const id = dialog.selectedId; ChatController.updateSystemPrompt(id, nameField.text, textArea.text); dialog.select(ChatController.systemPrompts.rowOf(id)) } }
                    Button { text: qsTr("Make default"); onClicked: { const id = dialog.selectedId; ChatController.setDefaultSystemPrompt(id); dialog.select(ChatController.systemPrompts.rowOf(id)) } }
                    Item { Layout.fillWidth: true }
                    Button { text: qsTr("Delete"); flat: true; onClicked: ChatController.deleteSystemPrompt(dialog.selectedId) }
                }
            }
        }

        Rectangle { Layout.fillWidth: true; height: 1; color: Theme.border }
        Label { text: qsTr("This conversation"); font.bold: true }
        RowLayout {
            Layout.fillWidth: true
            ComboBox {
                id: conversationChoice
                Layout.preferredWidth: 260
                model: ChatController.systemPrompts
                textRole: "name"
                valueRole: "promptId"
                displayText: currentIndex < 0 ? qsTr("No preset") : currentText
                currentIndex: ChatController.systemPrompts.rowOf(ChatController.conversationSystemPromptId)
                onActivated: ChatController.setConversationSystemPrompt(currentValue, overrideField.text)
            }
            TextField {
                id: overrideField
                Layout.fillWidth: true
                selectByMouse: true
                placeholderText: qsTr("Or type a prompt for this conversation only")
                text: ChatController.conversationSystemPromptOverride
                onEditingFinished: ChatController.setConversationSystemPrompt(ChatController.conversationSystemPromptId, text)
            }
        }
    }
}
