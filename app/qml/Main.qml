import QtQuick
import QtQuick.Controls
import QtQuick.Controls.Material
import QtQuick.Layouts
import QtQuick.Dialogs
import GlmChatCore

ApplicationWindow {
    id: window
    width: 1180
    height: 760
    minimumWidth: 720
    minimumHeight: 480
    visible: true
    title: ChatController.currentTitle.length > 0 ? qsTr("%1 — GLM Chat").arg(ChatController.currentTitle) : qsTr("GLM Chat")
    color: Theme.background
    Material.theme: Theme.dark ? Material.Dark : Material.Light
    Material.accent: Theme.accent
    Material.primary: Theme.accent
    Material.background: Theme.background
    Material.foreground: Theme.text
    // Sentence case everywhere (Material's default is all caps, which reads as shouting in English).
    font.capitalization: Font.MixedCase

    Shortcut { sequences: [StandardKey.New]; onActivated: ChatController.newConversation() }
    Shortcut { sequences: [StandardKey.Find]; onActivated: sidebar.focusSearch() }
    Shortcut { sequence: "Ctrl+,"; onActivated: settingsDialog.open() }
    Shortcut { sequence: "Ctrl+Shift+P"; onActivated: promptsDialog.open() }
    Shortcut { sequences: ["Esc", "Ctrl+."]; enabled: ChatController.generating; onActivated: ChatController.stop() }

    RowLayout {
        anchors.fill: parent
        spacing: 0

        Sidebar {
            id: sidebar
            Layout.preferredWidth: 280
            Layout.fillHeight: true
            onSettingsRequested: settingsDialog.open()
            onPromptsRequested: promptsDialog.open()
            onPluginsRequested: pluginsDialog.open()
        }
        Rectangle { Layout.fillHeight: true; width: 1; color: Theme.border }

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 0

            ConversationView {
                Layout.fillWidth: true
                Layout.fillHeight: true
            }
            // Tool calls waiting for the user's consent.
            Repeater {
                model: ChatController.toolHost ? ChatController.toolHost.pendingConsents : []
                delegate: ToolConsentCard {
                    required property var modelData
                    consent: modelData
                    Layout.fillWidth: true
                    Layout.maximumWidth: 900
                    Layout.alignment: Qt.AlignHCenter
                }
            }
            DocumentCard {
                id: documentCard
                Layout.fillWidth: true
                Layout.maximumWidth: 900
                Layout.alignment: Qt.AlignHCenter
                visible: ChatController.documentState !== ""
            }
            Composer {
                documentOverflow: documentCard.overflow
                Layout.fillWidth: true
                Layout.maximumWidth: 900
                Layout.alignment: Qt.AlignHCenter
            }
            StatusLine {
                Layout.fillWidth: true
                onModelPickerRequested: modelPopup.open()
            }
        }
    }

    DropArea {
        anchors.fill: parent
        onDropped: (drop) => { if (drop.hasUrls) ChatController.attachDocument(drop.urls[0]) }
        Rectangle {
            anchors.fill: parent
            visible: parent.containsDrag
            color: Qt.rgba(0.2, 0.4, 0.85, 0.12)
            border.color: Theme.accent
            border.width: 2
            Label {
                anchors.centerIn: parent
                text: qsTr("Drop a document to attach it")
                font.pixelSize: 20
                color: Theme.accent
            }
        }
    }

    // "Conversation deleted — Undo", for a few seconds after a delete.
    Rectangle {
        id: undoBar
        visible: ChatController.deletedConversationId !== 0
        anchors.bottom: parent.bottom
        anchors.bottomMargin: 48
        anchors.horizontalCenter: parent.horizontalCenter
        width: undoRow.implicitWidth + 32
        height: 44
        radius: Theme.radius
        color: Theme.dark ? "#e8e8ea" : "#2a2b2f"
        RowLayout {
            id: undoRow
            anchors.centerIn: parent
            spacing: 12
            Label { text: qsTr("Conversation deleted"); color: Theme.dark ? "#1f2023" : "#ffffff" }
            Button { text: qsTr("Undo"); flat: true; onClicked: ChatController.undoDelete() }
        }
        Timer {
            running: undoBar.visible
            interval: 8000
            onTriggered: ChatController.deletedConversationId !== 0 && undoBar.hide()
        }
        function hide() { visible = false }
        Connections {
            target: ChatController
            function onDeletedConversationChanged() { undoBar.visible = ChatController.deletedConversationId !== 0 }
        }
    }

    Popup {
        id: modelPopup
        anchors.centerIn: parent
        width: Math.min(parent.width - 80, 760)
        height: Math.min(parent.height - 80, 560)
        modal: true
        padding: 20
        ModelPicker { anchors.fill: parent; onModelChosen: modelPopup.close() }
    }

    // For screenshots and scripted checks (glmchat --show settings|prompts|models|plugins).
    function show(name) {
        if (name === "settings") settingsDialog.open()
        else if (name === "plugins") pluginsDialog.open()
        else if (name === "prompts") promptsDialog.open()
        else if (name === "models") modelPopup.open()
    }

    SettingsDialog { id: settingsDialog; anchors.centerIn: parent }
    SystemPromptsDialog { id: promptsDialog; anchors.centerIn: parent }
    PluginsDialog { id: pluginsDialog; anchors.centerIn: parent }
}
