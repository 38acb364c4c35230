import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// The messages of the branch on screen; a welcome page with the model picker when there are none.
Item {
    id: view

    ListView {
        id: messageList
        anchors.fill: parent
        anchors.topMargin: 12
        visible: count > 0
        clip: true
        spacing: 14
        model: ChatController.messages
        ScrollBar.vertical: ScrollBar {}
        // Follow the streaming reply while the user is at the bottom.
        property bool pinnedToEnd: true
        onMovementEnded: pinnedToEnd = atYEnd
        onContentHeightChanged: if (pinnedToEnd) positionViewAtEnd()
        onCountChanged: { pinnedToEnd = true; positionViewAtEnd() }
        delegate: MessageDelegate {
            width: Math.min(ListView.view.width - 48, 900)
            x: (ListView.view.width - width) / 2
        }
        footer: Item { height: 12 }
    }

    ColumnLayout {
        anchors.centerIn: parent
        width: Math.min(parent.width - 64, 760)
        height: Math.min(parent.height - 32, 560)
        visible: messageList.count === 0
        spacing: 12
        Label {
            Layout.alignment: Qt.AlignHCenter
            text: qsTr("GLM Chat")
            font.pixelSize: 30
            font.bold: true
            color: Theme.text
        }
        Label {
            Layout.alignment: Qt.AlignHCenter
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.Wrap
            color: Theme.mutedText
            text: ChatController.modelState === "ready"
                  ? qsTr("Ask anything, or drop a document (PDF, Word, Markdown, HTML, code) to summarize it or ask about it.")
                  : qsTr("Offline chat with GLM models. Everything stays on this computer.")
        }
        ModelPicker {
            Layout.fillWidth: true
            Layout.fillHeight: true
            visible: ChatController.modelState !== "ready"
        }
        Item { Layout.fillHeight: true; visible: ChatController.modelState === "ready" }
    }
}
