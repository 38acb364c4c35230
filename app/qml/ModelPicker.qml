import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import GlmChatCore

// Choose a model: open a folder, or pick one found on disk (Hugging Face cache, ~/models, recent
// ones), each with the memory it needs at the chosen context length.
ColumnLayout {
    id: picker
    signal modelChosen()
    spacing: 10

    RowLayout {
        Layout.fillWidth: true
        Label {
            Layout.fillWidth: true
            text: qsTr("Choose a model")
            font.pixelSize: 18
            font.bold: true
            color: Theme.text
        }
        AccentButton {
            text: qsTr("Open model folder…")
            onClicked: folderDialog.open()
        }
    }
    Label {
        Layout.fillWidth: true
        wrapMode: Text.Wrap
        color: ChatController.modelState === "error" ? Theme.danger : Theme.mutedText
        text: ChatController.modelState === "error" ? ChatController.lastError
              : ChatController.modelState === "loading" ? qsTr("Loading %1… %2%").arg(ChatController.modelName).arg(Math.round(ChatController.loadProgress * 100))
              : ChatController.modelCatalog.scanning ? qsTr("Looking for GLM models on this computer…")
              : ChatController.modelCatalog.count > 0 ? qsTr("Models found on this computer (memory needed at a context of %1 tokens):").arg(ChatController.settings.contextLength)
              : qsTr("No GLM model was found in ~/models or the Hugging Face cache. Open a model folder (config.json, *.safetensors and the tokenizer).")
    }
    ProgressBar {
        Layout.fillWidth: true
        visible: ChatController.modelState === "loading"
        value: ChatController.loadProgress
    }
    ScrollView {
        id: foundScroll
        Layout.fillWidth: true
        Layout.preferredHeight: Math.min(foundColumn.implicitHeight, 420)
        contentWidth: availableWidth
        clip: true
        Column {
            id: foundColumn
            width: foundScroll.availableWidth
            spacing: 4
            Repeater {
                model: ChatController.modelCatalog
                delegate: ItemDelegate {
                    id: entry
                    required property string name
                    required property string path
                    required property string family
                    required property string parameters
                    required property string memory
                    required property string memoryByWeights
                    required property string memoryByKvCache
                    required property bool recent
                    required property string error
                    width: foundColumn.width
                    enabled: error.length === 0 && ChatController.modelState !== "loading"
                    onClicked: { ChatController.loadModel(path); picker.modelChosen() }
                    background: Rectangle { radius: Theme.radius; color: entry.hovered ? Theme.selected : "transparent"; border.color: Theme.border }
                    contentItem: ColumnLayout {
                        spacing: 2
                        RowLayout {
                            Label { text: entry.name; font.bold: true; color: Theme.text; Layout.fillWidth: true; elide: Text.ElideRight }
                            Label { visible: entry.recent; text: qsTr("recent"); color: Theme.accent; font.pixelSize: 12 }
                            Label {
                                text: entry.error.length > 0 ? qsTr("cannot be used") : qsTr("%1 · %2 parameters · needs %3 (%4, %5 KV cache)").arg(entry.family).arg(entry.parameters).arg(entry.memory).arg(ChatController.settings.weights).arg(ChatController.settings.kvCache)
                                color: entry.error.length > 0 ? Theme.danger : Theme.mutedText
                                font.pixelSize: 12
                            }
                        }
                        Label {
                            visible: entry.error.length === 0
                            Layout.fillWidth: true
                            text: qsTr("by weight format: %1").arg(entry.memoryByWeights)
                            color: Theme.mutedText
                            font.pixelSize: 11
                            elide: Text.ElideRight
                        }
                        Label {
                            visible: entry.error.length === 0
                            Layout.fillWidth: true
                            text: qsTr("by KV cache: %1").arg(entry.memoryByKvCache)
                            color: Theme.mutedText
                            font.pixelSize: 11
                            elide: Text.ElideRight
                        }
                        Label {
                            Layout.fillWidth: true
                            text: entry.error.length > 0 ? entry.error : entry.path
                            color: Theme.mutedText
                            font.pixelSize: 11
                            elide: Text.ElideMiddle
                        }
                    }
                }
            }
        }
    }
    Item { Layout.fillHeight: true }
    FolderDialog {
        id: folderDialog
        title: qsTr("Open a GLM model folder")
        onAccepted: { ChatController.loadModelFromUrl(selectedFolder); picker.modelChosen() }
    }
}
